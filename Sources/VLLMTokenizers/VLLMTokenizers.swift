// VLLMTokenizers: see ARCHITECTURE.md.
