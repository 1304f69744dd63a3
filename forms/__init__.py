"""WTForms classes for every page; fields normalise Japanese input and say what is wrong in Japanese."""
