"""The spanscope dashboard: Streamlit pages that read only through the collector API."""
