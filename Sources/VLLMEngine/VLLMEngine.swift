// VLLMEngine: see ARCHITECTURE.md.
