import sys
from pathlib import Path

# Make the helper modules in tests/ (factories, server_process) importable
# under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))
