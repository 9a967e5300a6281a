"""Credentials for tests that turn tokens on: each token is 43 URL-safe characters (what
``casesvc token new`` makes), and a secret key other than the development one (tokens with
the development key are refused at start-up)."""

TOKEN_A = "Ux8r2m4QkT9vB1nZ7cY3wL6pH0sJ5dF_aE-gR8tK2qM"
TOKEN_B = "mN3bV7cX1zL9kJ5hG2fD8sA4pO6iU0yT_rE-wQ3eR7t"
SECRET_KEY = "tests-secret-key-not-the-development-one"
# CASESVC_API_TOKENS for two named clients.
CLIENTS = f"clinic-a:{TOKEN_A},clinic-b:{TOKEN_B}"
