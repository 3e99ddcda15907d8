"""One spider per source kind (ecommerce, tradefair, market), each driven by a SourceConfig."""
