-- role_dora_api, version 1. Never edit once applied: a change is a new file and a new migration.
-- The read API's role: dora_reader's views, and two functions over api_keys, no privilege on any table. The API
-- takes it on every connection (SET ROLE dora_api), so even an owner's DATABASE_URL serves with these rights only.
-- Roles are cluster-wide, so it may exist already (another database on the same server).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dora_api') THEN
        CREATE ROLE dora_api NOLOGIN;
    END IF;
END
$$;
GRANT dora_reader TO dora_api;

-- SECURITY DEFINER: they run with their owner's rights (the migrating login's), so search_path is pinned and
-- every name is qualified; PUBLIC's default EXECUTE is revoked.
CREATE FUNCTION api_key_secret(p_key_id text) RETURNS TABLE (secret_hash bytea, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT k.secret_hash, k.revoked_at IS NOT NULL FROM public.api_keys AS k WHERE k.key_id = p_key_id $$;

-- Only a caller that holds the key's secret (its hash) can mark it used, and at most once a minute: a portal
-- polling every few seconds costs one write a minute, not one a request.
CREATE FUNCTION api_key_used(p_key_id text, p_secret_hash bytea) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
        UPDATE public.api_keys SET last_used_at = now()
        WHERE key_id = p_key_id AND secret_hash = p_secret_hash AND revoked_at IS NULL
          AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
    $$;

REVOKE ALL ON FUNCTION api_key_secret(text), api_key_used(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_secret(text), api_key_used(text, bytea) TO dora_api;

COMMENT ON FUNCTION api_key_secret(text) IS
    'The API''s key check: the stored SHA-256 of a key''s secret and whether it is revoked; no row for an unknown key.';
COMMENT ON FUNCTION api_key_used(text, bytea) IS
    'Records that a key was used (api_keys.last_used_at), at most once a minute, for a caller that holds its secret.';
