"""`clinassist eval`: retrieval, question answering, grounding and imaging, measured the same way
from the command line and from `bench/` (one implementation, each task in its own module)."""
