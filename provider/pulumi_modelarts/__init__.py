"""Pulumi data source for ModelArts visualization jobs (Open Telekom Cloud, Huawei Cloud)."""

__version__ = "0.1.0"
