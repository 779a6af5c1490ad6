-- Partner organisations' API tokens (issue 20). Each token acts through an account of its own (an
-- operator marked partner, with no password: it cannot sign in), so every call is checked and audited
-- like a person's; its scopes name the routes it may call, its quotas how often. Usage is counted per
-- UTC day, refused calls apart.
ALTER TABLE users ADD COLUMN partner boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_partner_is_operator CHECK (NOT partner OR (role = 'operator' AND NOT display));

CREATE TABLE partner_tokens (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id        uuid NOT NULL UNIQUE REFERENCES users (id),
  organisation   text NOT NULL CHECK (length(organisation) BETWEEN 1 AND 200),
  token_hash     text NOT NULL UNIQUE,
  token_prefix   text NOT NULL,
  scopes         text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['upload', 'search', 'export']),
  daily_quota    integer CHECK (daily_quota > 0),
  monthly_quota  integer CHECK (monthly_quota > 0),
  created_by     uuid REFERENCES users (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz,
  last_used_at   timestamptz
);

CREATE TABLE partner_usage (
  token_id  uuid NOT NULL REFERENCES partner_tokens (id),
  day       date NOT NULL,
  calls     integer NOT NULL DEFAULT 0 CHECK (calls >= 0),
  refused   integer NOT NULL DEFAULT 0 CHECK (refused >= 0),
  PRIMARY KEY (token_id, day)
);
