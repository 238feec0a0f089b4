"""Canary credentials: tests assert these never show up in output, messages, logs or state."""

from __future__ import annotations

from pulumi_modelarts.emulator import EmulatorCredentials

CANARY = EmulatorCredentials(
    access_key="CANARYAK7f3e9d2c1b0a",
    secret_key="canary-secret-key-5d41402abc4b2a76b9719d911017c592",
    user_name="canary-user",
    password="canary-password-9e107d9d372bb6826bd81d3542a419d6",
    domain_name="canary-domain",
)
CANARY_SECRETS = (CANARY.access_key, CANARY.secret_key, CANARY.password)
