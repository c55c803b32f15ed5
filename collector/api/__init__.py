"""The read API over the documented views: ``GET /teams``, a team's velocity, PR lead time and four keys with
their bands, ``/openapi.json``.

One application (``app.create_app``, Powertools' ``APIGatewayHttpResolver``) serves both the API Lambda
(``lambda_handler``, behind API Gateway's HTTP API) and ``dora-collector serve`` (``local``, which turns each HTTP
request into the same HTTP API event). It reads the views only, as the database role ``dora_api``.
"""
