"""The dashboard pages: Streamlit scripts that app.py registers with `st.navigation`."""
