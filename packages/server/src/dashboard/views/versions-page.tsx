import type { Rollout } from '@ds/shared';
import type { VersionsView } from '../versions.service.js';
import { BASE } from '../session.js';
import { ChartFigure, formatCount, OrganizationPicker, Section, SeriesTable, Stats } from './components.js';
import { Layout, type Session } from './layout.js';

const percent = (share: number | null) => (share === null ? '–' : `${(share * 100).toFixed(1)} %`);

const STATE_TEXT: Record<Rollout['state'], string> = {
  active: 'in progress',
  paused: 'paused',
  completed: 'completed: the version is recommended',
  aborted: 'aborted: devices not on it are offered the previous recommended version',
};

export function VersionsPage(props: { session: Session; data: VersionsView; organizations: string[]; organization: string | undefined }) {
  const { data, session } = props;
  const total = data.today.reduce((s, r) => s + r.devices, 0);
  return (
    <Layout title="Versions" session={session} section="versions" charts>
      <h1>Versions</h1>
      <OrganizationPicker action={`${BASE}/versions`} organizations={props.organizations} selected={props.organization} limitedTo={session.principal.organizationName} />

      <Section id="adoption" title="Adoption">
        <p>
          Devices per version at the end of each day of {data.currentMonth} (today: as of now) and at the end of the months before it, from the daily snapshots (
          <code>ds report adoption</code>). A device counts when it synced or registered in the 30 days before.
        </p>
        <Stats
          items={[
            { id: 'adoption-devices', term: 'Devices now', value: total },
            ...data.today.slice(0, 3).map((r) => ({ id: `adoption-${r.version}`, term: `On ${r.version}`, value: r.devices, detail: percent(r.share) })),
          ]}
        />
        <div class="charts">
          <ChartFigure
            id="chart-adoption"
            title="Devices per version over time"
            wide
            data={{ type: 'bar', labels: data.periods.map((p) => p.label), datasets: data.series, stacked: true }}
            table={<SeriesTable caption="Devices per version over time" keyHeader="Day" labels={data.periods.map((p) => p.label)} series={data.series} empty="No snapshot yet" />}
          />
        </div>
        <h3 id="now-heading">Now</h3>
        <div class="table-box" role="region" aria-labelledby="now-heading" tabindex={0}>
          <table id="adoption-now">
            <caption class="visually-hidden">Devices per version now</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col" class="num">
                  Devices
                </th>
                <th scope="col" class="num">
                  Share
                </th>
                <th scope="col" class="num">
                  Reporting ERROR
                </th>
              </tr>
            </thead>
            <tbody>
              {data.today.length === 0 ? (
                <tr>
                  <td colspan={4}>No devices</td>
                </tr>
              ) : (
                data.today.map((r) => (
                  <tr>
                    <th scope="row">{r.version}</th>
                    <td class="num" data-value={r.devices}>
                      {formatCount(r.devices)}
                    </td>
                    <td class="num">{percent(r.share)}</td>
                    <td class="num" data-value={r.errors}>
                      {formatCount(r.errors)}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      </Section>

      <Section id="rollouts" title="Rollouts">
        {data.rollouts === null ? (
          <p class="notice">Rollouts are shown to users who may read versions.</p>
        ) : data.rollouts.length === 0 ? (
          <p>
            No rollout in progress. Start one with <code>ds rollout start &lt;version&gt;</code>.
          </p>
        ) : (
          <>
            <p class="hint">
              {data.rolloutOrganization === null
                ? 'Rollout numbers count every device DS offered the version to, whatever organization it serves.'
                : `Rollout numbers count the devices of ${data.rolloutOrganization} DS offered the version to; the health gate judges every device.`}
            </p>
            {data.rollouts.map((r) => (
              <RolloutView rollout={r} />
            ))}
          </>
        )}
      </Section>
    </Layout>
  );
}

function RolloutView(props: { rollout: Rollout }) {
  const r = props.rollout;
  const id = `rollout-${r.version.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const g = r.gate;
  return (
    <article class="rollout" aria-labelledby={`${id}-heading`} data-rollout={r.version} data-state={r.state}>
      <h3 id={`${id}-heading`}>
        {r.version}: {STATE_TEXT[r.state]}, offered to {r.percent} % of devices
      </h3>
      <p>
        Wave {r.waveIndex + 1} of {r.waves.length} ({r.waves.map((w) => `${w} %`).join(', ')}); each held {Math.round(r.waveHoldSeconds / 3600)} h.{' '}
        {r.nextWaveAt ? `The next wave starts at ${r.nextWaveAt} if its health gate passes.` : ''}
      </p>
      {r.pausedReason ? (
        <p class="notice" data-paused-reason="">
          Paused by {r.pausedReason.replace(/^paused by /, '')}
        </p>
      ) : null}
      <Stats
        items={[
          { id: `${id}-offered`, term: 'Offered', value: g.offered },
          { id: `${id}-updated`, term: 'Updated', value: g.updated },
          { id: `${id}-failed`, term: 'Failed', value: g.failed, detail: `failure rate ${percent(g.failureRate)} (limit ${percent(r.maxFailureRate)}, from ${r.minSample} updated)` },
          { id: `${id}-stuck`, term: 'Stuck', value: g.stuck },
        ]}
      />
      <div class="table-box" role="region" aria-labelledby={`${id}-waves`} tabindex={0}>
        <table data-waves={r.version}>
          <caption id={`${id}-waves`}>Waves of {r.version}</caption>
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col" class="num">
                Offered
              </th>
              <th scope="col" class="num">
                Updated
              </th>
              <th scope="col" class="num">
                Failed
              </th>
              <th scope="col" class="num">
                Stuck
              </th>
              <th scope="col" class="num">
                Failure rate
              </th>
            </tr>
          </thead>
          <tbody>
            {r.waveStats.map((w) => (
              <tr data-wave={w.index} aria-current={w.status === 'current' ? 'step' : undefined}>
                <th scope="row">
                  {w.index + 1}: {w.percent} %
                </th>
                <td>{w.status}</td>
                <td>{w.startedAt ?? '–'}</td>
                <td class="num">{formatCount(w.offered)}</td>
                <td class="num">{formatCount(w.updated)}</td>
                <td class="num">{formatCount(w.failed)}</td>
                <td class="num">{formatCount(w.stuck)}</td>
                <td class="num">{percent(w.failureRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </article>
  );
}
