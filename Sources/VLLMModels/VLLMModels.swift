// VLLMModels: see ARCHITECTURE.md.
