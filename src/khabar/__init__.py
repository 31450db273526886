"""khabar: ask questions about Arabic news articles, in English or Arabic.

Import-light on purpose: heavy libraries (faiss, gradio, the encoder engine) load
only inside the modules that wrap them, so ``khabar ask`` starts fast.
"""

from khabar.errors import KhabarError

__version__ = "0.1.0"
__all__ = ["KhabarError", "__version__"]
