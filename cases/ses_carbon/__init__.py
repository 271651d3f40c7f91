"""SES-carbon case (Zhong et al., Processes 12 (2024) 1791): registered lazily."""
