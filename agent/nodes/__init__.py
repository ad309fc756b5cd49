"""The graph's nodes, plain functions of (Context, State), one module per stage."""
