"""The paper's experiments, in shape, on any data set and checkpoint.

``python -m ciasa.experiments {fgsm-sweep,basic-sweep,regions,ablation,lambda,strips,transfer}``;
see :mod:`ciasa.experiments.sweeps`, :mod:`ciasa.experiments.strips` and
:mod:`ciasa.experiments.transfer`.
"""
