// Projections: position, lag, events/s, state and last error, live through
// `projectionStatus`, with a lag sparkline; admins can rebuild one and watch
// the new generation catch up.
import { useEffect, useState } from 'preact/hooks';
import { describe, request, subscribe } from '../api';
import {
  ProjectionStatusDocument,
  ProjectionsDocument,
  RebuildProjectionDocument,
} from '../gql/graphql';
import type { ProjectionFieldsFragment } from '../gql/graphql';

const SAMPLES = 60;

function Sparkline({ values }: { values: number[] }) {
  const w = 120;
  const h = 24;
  if (values.length < 2) return <svg class="spark" width={w} height={h} />;
  // Flat at zero is the good case: drawn on the baseline.
  const max = Math.max(1, ...values);
  const step = w / (SAMPLES - 1);
  const offset = (SAMPLES - values.length) * step;
  const points = values
    .map((v, i) => `${(offset + i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`)
    .join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-label={`lag, max ${max}`}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

function Projection({ initial }: { initial: ProjectionFieldsFragment }) {
  const [p, setP] = useState(initial);
  const [lags, setLags] = useState<number[]>([initial.lag]);
  const [error, setError] = useState('');
  // The generation a rebuild started here is building.
  const [started, setStarted] = useState<number | null>(null);

  useEffect(
    () =>
      subscribe(
        ProjectionStatusDocument,
        { name: initial.name },
        (d) => {
          const s = d.projectionStatus;
          setP(s);
          setLags((l) => [...l, s.lag].slice(-SAMPLES));
        },
        (e) => setError(describe(e)),
      ),
    [initial.name],
  );

  // The sparkline advances once a second with the latest status the
  // subscription brought (the server is not asked again).
  const [, setTick] = useState(0);
  const lagNow = p.lag;
  useEffect(() => {
    const timer = setInterval(() => {
      setLags((l) => [...l, lagNow].slice(-SAMPLES));
      setTick((t) => t + 1);
    }, 1000);
    return () => clearInterval(timer);
  }, [lagNow]);

  const rebuild = async () => {
    setError('');
    try {
      const r = await request(RebuildProjectionDocument, { name: p.name });
      setStarted(r.rebuildProjection.generation);
    } catch (e) {
      setError(describe(e));
    }
  };

  const r = p.rebuild;
  const note =
    started === null
      ? ''
      : !r && p.generation >= started
        ? `rebuilt: generation ${started} is live`
        : `rebuilding generation ${started}…`;
  const head = Number(r?.head ?? 0);
  const progress = r && head > 0 ? Math.min(100, (Number(r.position) / head) * 100) : 0;

  return (
    <tr data-projection={p.name}>
      <td>
        <strong>{p.name}</strong>
        <div class="hint">generation {p.generation}</div>
      </td>
      <td class="num" data-testid="position">{p.position}</td>
      <td class="num">{p.head}</td>
      <td class="num" data-testid="lag">
        {p.lag}
        <div class="hint">{p.lagSeconds.toFixed(1)} s</div>
      </td>
      <td>
        <Sparkline values={lags} />
      </td>
      <td class="num">{p.eventsPerSecond.toFixed(1)}</td>
      <td>
        <span class={`state ${p.state}`} data-testid="state">{p.state}</span>
        {p.lastError && <div class="error">{p.lastError}</div>}
      </td>
      <td>
        {r ? (
          <div data-testid="rebuild">
            <progress max={100} value={progress} /> {r.state} gen {r.generation}: {r.position}/{r.head}, {r.eventsDone} done,{' '}
            {r.eventsPerSecond.toFixed(0)}/s
            {r.error && <div class="error">{r.error}</div>}
          </div>
        ) : (
          <button type="button" onClick={rebuild}>
            Rebuild
          </button>
        )}
        {note && <div class="hint" data-testid="note">{note}</div>}
        {error && <div class="error" role="alert">{error}</div>}
      </td>
    </tr>
  );
}

export function ProjectionsView() {
  const [list, setList] = useState<ProjectionFieldsFragment[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    request(ProjectionsDocument)
      .then((d) => setList(d.projections))
      .catch((e) => setError(describe(e)));
  }, []);
  return (
    <section>
      <h1>Projections</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {list && (
        <table class="projections">
          <thead>
            <tr>
              <th>Projection</th>
              <th class="num">Position</th>
              <th class="num">Head</th>
              <th class="num">Lag</th>
              <th>Lag (recent)</th>
              <th class="num">Events/s</th>
              <th>State</th>
              <th>Rebuild</th>
            </tr>
          </thead>
          <tbody>
            {list.map((p) => (
              <Projection key={p.name} initial={p} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
