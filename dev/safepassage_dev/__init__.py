"""Development helpers outside the SafePassage product: `make demo`, `make airflow`, the local Airflow
they and the real-scheduler tests run. Installed beside the product for development, never into its image."""
