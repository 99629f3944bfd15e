"""``python -m evaluation.server``: the command-line entry point of the OpenAI-compatible server (the
arguments and the server itself are in ``evaluation.server.app``); this module only calls its ``main``.
"""
from .app import main

if __name__ == "__main__":
    main()
