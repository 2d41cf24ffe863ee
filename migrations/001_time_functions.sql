-- Events carry unix milliseconds; projections store timestamptz. These two conversions are exact
-- (no float rounding), so an incremental apply and a rebuild produce identical rows. Schema-qualified
-- so that `kiln-analytics rebuild`, which replays the projection migrations into a scratch schema,
-- replaces them in place instead of shadowing them.
CREATE OR REPLACE FUNCTION public.kiln_ms_to_ts(ms bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN ms IS NULL OR ms <= 0 THEN NULL
                    ELSE timestamptz 'epoch' + ms * interval '1 millisecond' END $$;

CREATE OR REPLACE FUNCTION public.kiln_ts_to_ms(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT (extract(epoch FROM t) * 1000)::bigint $$;
