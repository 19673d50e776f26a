"""Local stand-ins for the external systems IEC talks to (no real Magento can run here)."""
