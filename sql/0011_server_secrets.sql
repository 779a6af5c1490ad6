-- Keys the server keeps for itself, one row per purpose, made here once per installation so that every
-- replica on this database uses the same ones and no setting has to be invented by the operator.
--
-- telegram_callback: signs the data of the bot's inline buttons (Telegram clients can send any data
-- for a message's button). It is not derived from TELEGRAM_BOT_TOKEN: whoever holds the token could
-- then make buttons the server accepts. Replacing it (then restarting the servers, which read it at
-- start) voids every button already sent.

CREATE TABLE server_secrets (
  name        text PRIMARY KEY,
  secret      bytea NOT NULL CHECK (length(secret) >= 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- gen_random_uuid() reads the strong random source; two of them give 244 random bits without pgcrypto.
INSERT INTO server_secrets (name, secret)
VALUES ('telegram_callback', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
