#!/usr/bin/python3
"""`make fixtures` entry point for the MTCNN fixtures (see mtcnn_reference.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtcnn_reference  # noqa: E402

mtcnn_reference.main()
