"""atheris harness: `python -m fuzz.fuzz_policy_parser [libFuzzer options] [corpus dir]`, or fuzz/run.py."""

from fuzz.harness import main

if __name__ == "__main__":
    main("policy_parser")
