"""Workloads: networks, their file format and the paper's zoo."""

from epur.workload.loader import load_network, network_from_dict
from epur.workload.network import Activation, FCLayer, Layer, LSTMLayer, Network, Stack
from epur.workload.zoo import ZOO_NAMES, zoo_network

__all__ = [
    "ZOO_NAMES",
    "Activation",
    "FCLayer",
    "LSTMLayer",
    "Layer",
    "Network",
    "Stack",
    "load_network",
    "network_from_dict",
    "zoo_network",
]
