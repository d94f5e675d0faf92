#!/usr/bin/env python3
"""Prints the anchor colours of the viridis colour map (perceptually uniform; by van der Walt
and Smith, released to the public domain (CC0)) as the Swift table in
Sources/FCNImage/ColorMap.swift. FCNKit interpolates linearly between the 17 anchors.

Run: python scripts/make_colormap.py   (needs matplotlib)
"""
import matplotlib

ANCHORS = 17

colormap = matplotlib.colormaps["viridis"]
print("    static let viridisAnchors: [(Float, Float, Float)] = [")
for index in range(ANCHORS):
    red, green, blue, _ = colormap(index / (ANCHORS - 1))
    print(f"        ({red:.4f}, {green:.4f}, {blue:.4f}),")
print("    ]")
