// VLLMCore: see ARCHITECTURE.md.
