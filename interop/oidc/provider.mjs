// A real OpenID provider for Atrium's single-sign-on tests: oidc-provider (a certified
// OpenID Connect implementation) on loopback, configured by the environment:
//   PORT          where it listens (the issuer is http://127.0.0.1:PORT)
//   CLIENTS       JSON list of clients: [{client_id, client_secret, redirect_uris}]
//   USERS         JSON object: login -> claims (sub, preferred_username, name, email, groups)
//   KEYS_FILE     a JWKS file with private keys; the first signs. Rotate keys by restarting
//                 with a new key first and the old one after it (as providers roll keys).
// The login page is oidc-provider's development interaction (a form: login and password);
// only the logins in USERS exist. Consent is taken as given for the configured clients (an
// organisation's own app), so the flow goes login -> back to the client.
import fs from "node:fs";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.CLIENTS || "[]");
const users = JSON.parse(process.env.USERS || "{}");
const jwks = JSON.parse(fs.readFileSync(process.env.KEYS_FILE, "utf8"));

const configuration = {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  })),
  jwks,
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username"],
    email: ["email", "email_verified"],
    groups: ["groups"],
  },
  scopes: ["openid", "profile", "email", "groups"],
  // The claims of the scopes asked for go in the ID token (as Entra ID, Okta and Keycloak
  // can be set to do), not only in the userinfo answer.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const entry = Object.entries(users).find(([login, claims]) => login === id || claims.sub === id);
    if (!entry) return undefined;
    const [login, claims] = entry;
    return { accountId: login, async claims() { return { sub: login, ...claims }; } };
  },
  async loadExistingGrant(ctx) {
    const known = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (known) return ctx.oidc.provider.Grant.find(known);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid profile email groups");
    await grant.save();
    return grant;
  },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
};

const provider = new Provider(issuer, configuration);
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
