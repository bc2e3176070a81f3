"""QA checks for TweakReg/AstroDrizzle products: pure functions, importable without pytest."""
