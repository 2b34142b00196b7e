-- Phase 6: plans, their proposals and quotes saved before tracks had one
-- course (sessions and interval) for every area. Each becomes one track
-- holding every area, with the same values; nothing else changes. Safe to
-- run twice: rows that have tracks are left alone.
UPDATE plans SET proposal = (
    (proposal::jsonb - 'sessions' - 'sessions_min' - 'sessions_max' - 'interval')
    || jsonb_build_object(
        'reconciliation', '[]'::jsonb,
        'tracks', jsonb_build_array(jsonb_build_object(
            'areas', (SELECT coalesce(jsonb_agg(a -> 'area'), '[]'::jsonb)
                      FROM jsonb_array_elements(proposal::jsonb -> 'areas') a),
            'indications', (SELECT coalesce(jsonb_agg(DISTINCT i), '[]'::jsonb)
                            FROM jsonb_array_elements(proposal::jsonb -> 'areas') a,
                                 jsonb_array_elements(a -> 'indications') i),
            'sessions', proposal::jsonb -> 'sessions',
            'sessions_min', proposal::jsonb -> 'sessions_min',
            'sessions_max', proposal::jsonb -> 'sessions_max',
            'interval', proposal::jsonb -> 'interval',
            'reconciliation', proposal::jsonb -> 'reconciliation'
        ))
    ))::text
WHERE NOT (proposal::jsonb ? 'tracks');

UPDATE plans SET quote = (
    (quote::jsonb - 'session_lines' - 'per_session' - 'sessions')
    || jsonb_build_object('tracks', jsonb_build_array(jsonb_build_object(
        'areas', (SELECT coalesce(jsonb_agg(a -> 'area'), '[]'::jsonb)
                  FROM jsonb_array_elements(plan::jsonb -> 'areas') a),
        'session_lines', quote::jsonb -> 'session_lines',
        'per_session', quote::jsonb -> 'per_session',
        'sessions', quote::jsonb -> 'sessions',
        'course', quote::jsonb -> 'course'
    ))))::text
WHERE quote IS NOT NULL AND NOT (quote::jsonb ? 'tracks');

UPDATE plans SET plan = (
    (plan::jsonb - 'sessions' - 'sessions_reason' - 'interval' - 'interval_reason')
    || jsonb_build_object('tracks', jsonb_build_array(jsonb_build_object(
        'areas', (SELECT coalesce(jsonb_agg(a -> 'area'), '[]'::jsonb)
                  FROM jsonb_array_elements(plan::jsonb -> 'areas') a),
        'sessions', plan::jsonb -> 'sessions',
        'sessions_reason', coalesce(plan::jsonb -> 'sessions_reason', 'null'::jsonb),
        'interval', plan::jsonb -> 'interval',
        'interval_reason', coalesce(plan::jsonb -> 'interval_reason', 'null'::jsonb)
    ))))::text
WHERE NOT (plan::jsonb ? 'tracks');
