"""Ready-made sources. `ladle.sources.rest_api` turns a REST API into a source by configuration."""
