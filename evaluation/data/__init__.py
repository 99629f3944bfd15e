"""Evaluation data written by this project (see README.md in this folder)."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
