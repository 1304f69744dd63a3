"""Builders shared by the tests: app configuration, records made the way users make them, and walking
pages like a browser. Fixtures stay in the conftest modules; everything a test imports lives here."""
