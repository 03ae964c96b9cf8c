"""The source paper's published numbers, defined once, for printing next to ours.

Read from the paper's tables (NTU RGB+D 60 cross-view unless said otherwise). Where the
extracted text of a table is garbled (Table III), the values are the ones the project's
specification reads from it, given as ranges; Table II's cross-view set-1 cell is empty
in the paper. The paper does not state the unit of Table IV/V's joint variations.
"""

from __future__ import annotations

# Fig. 2 is a plot, not a table: what it shows, in words.
FIG2 = "FGSM untargeted fooling rate passes 90 % on NTU and on Kinetics once eps reaches 0.02"

# Table I: CIASA basic mode, least-likely target, targeted fooling rate (%) per eps.
TABLE1_EPS = (0.004, 0.006, 0.008, 0.010, 0.012)
TABLE1 = {
    "ntu_xview": (78.2, 85.5, 93.3, 98.9, 99.6),
    "ntu_xsub": (89.4, 96.6, 98.7, 99.2, 99.8),
    "kinetics": (82.5, 92.5, 96.5, 97.5, 99.3),
}

# Table II: localized mode, eps 0.04, targeted fooling rate (%) per region.
TABLE2_EPS = 0.04
TABLE2 = {
    "ntu_xsub": {"set-1": 90.8, "set-2": 93.3, "set-3": 61.3, "set-4": 83.3},
    "ntu_xview": {"set-1": None, "set-2": 91.7, "set-3": 60.0, "set-4": 81.7},
}

# Table III: basic mode, eps 0.012, ST-GCN -> other models, cross-view.
# (original accuracy, attacked accuracy) as printed ranges.
TABLE3_EPS = 0.012
TABLE3 = {
    "js": ("~93", "~7-14"),
    "bs": ("~93", "~7-14"),
    "2s": ("~93", "~7-14"),
    "pa_lstm": ("68.5", "52.7"),
}

# Table IV: basic mode, all joints, global eps 1e-3 as printed; (min, max, mean, fooling %).
TABLE4_EPS = 0.001
TABLE4 = {
    "clip only": (6.02, 9.16, 7.59, 99.6),
    "+ SSR": (5.37, 9.08, 7.24, 99.2),
    "+ SSR + temporal": (5.09, 9.05, 7.23, 99.3),
    "+ SSR + temporal + GAN": (4.78, 9.02, 7.09, 99.1),
}

# Table V: lambda; (min, max, mean, fooling %).
TABLE5 = {
    5.0: (5.19, 9.09, 7.73, 99.3),
    10.0: (4.78, 9.02, 7.09, 99.1),
    20.0: (4.01, 8.13, 6.45, 98.2),
}

# Cross-modality (Sec. V-D2): 240 random cross-view clips, advanced mode, rendered and
# re-extracted: accuracy on clean renders vs perturbed renders (%).
CROSS_MODALITY = (54.1, 39.3)
