"""Use cases over the store port: validate, authorise, store, audit."""
