"""`ladle init --openapi`: a runnable `rest_api_source` project from an OpenAPI spec."""

from ladle.sources.rest_api.openapi.project import GeneratedProject, generate_from, generate_project

__all__ = ["GeneratedProject", "generate_from", "generate_project"]
