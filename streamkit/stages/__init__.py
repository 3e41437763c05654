"""The stages, each a plain generator: fetch (replay), normalize, accumulate, render, convert."""
