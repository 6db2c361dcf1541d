"""Tables, columns, data types, naming and contracts."""

from ladle.schema.contract import SchemaContract
from ladle.schema.data_types import DataType
from ladle.schema.schema import Column, Schema, Table, WriteDisposition

__all__ = ["Column", "DataType", "Schema", "SchemaContract", "Table", "WriteDisposition"]
