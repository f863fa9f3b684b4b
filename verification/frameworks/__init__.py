"""Adapters: one module per framework, each a faithful translation of that framework's CNN
operators to the `cnnref check` protocol (the reference's names and signatures, NumPy
arrays in NCHW), with gradients from the framework's own autodiff."""
