"""Imaging tools: decode DICOM / PNG / JPEG, render as a viewer would (de-identification,
encoding and similarity search build on this)."""
