"""atheris harness: `python -m fuzz.fuzz_signature_header [libFuzzer options] [corpus dir]`, or fuzz/run.py."""

from fuzz.harness import main

if __name__ == "__main__":
    main("signature_header")
