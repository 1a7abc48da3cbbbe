// VLLMTemplates: see ARCHITECTURE.md.
