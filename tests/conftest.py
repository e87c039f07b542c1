import sys
from pathlib import Path

# Make tests/factories.py importable as `factories` under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))
