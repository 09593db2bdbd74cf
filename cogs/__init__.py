"""Grove's Discord adapter: one module or package per feature."""
