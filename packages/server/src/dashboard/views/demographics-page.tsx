import type { DeviceReportRow, DownloadReportRow } from '@ds/shared';
import type { Demographics } from '../dashboard.service.js';
import { BASE } from '../session.js';
import { CountChart, DownloadsHidden, DownloadsScope, formatCount, OrganizationPicker, Section } from './components.js';
import { Layout, type Session } from './layout.js';

const deviceRows = (rows: DeviceReportRow[], unknown: string) => rows.map((r) => ({ key: r.key ?? unknown, count: r.devices }));
const downloadRows = (rows: DownloadReportRow[], key: (r: DownloadReportRow) => string) => rows.map((r) => ({ key: key(r), count: r.downloads }));

export function DemographicsPage(props: { session: Session; data: Demographics; organizations: string[]; organization: string | undefined }) {
  const { data } = props;
  return (
    <Layout title="Demographics" session={props.session} section="demographics" charts>
      <h1>Demographics</h1>
      <OrganizationPicker
        action={`${BASE}/demographics`}
        organizations={props.organizations}
        selected={props.organization}
        limitedTo={props.session.principal.organizationName}
      />
      <Section id="devices" title="Devices">
        <p>
          {formatCount(props.data.total)} registered devices. A device that reported several browsers counts once under each, so the browser shares can add up to more
          than 100 %.
        </p>
        <div class="charts">
          <CountChart id="chart-os" title="Devices by operating system" type="doughnut" keyHeader="Operating system" countHeader="Devices" rows={deviceRows(data.byOs, '(unknown)')} total={props.data.total} />
          <CountChart id="chart-browser" title="Devices by browser" type="bar" keyHeader="Browser" countHeader="Devices" rows={deviceRows(data.byBrowser, '(none reported)')} total={props.data.total} />
          <CountChart id="chart-version" title="Devices by version" type="bar" keyHeader="Version" countHeader="Devices" rows={deviceRows(data.byVersion, '(unknown)')} total={props.data.total} />
          <CountChart id="chart-status" title="Devices by status" type="doughnut" keyHeader="Status" countHeader="Devices" rows={deviceRows(data.byStatus, '(unknown)')} total={props.data.total} />
        </div>
      </Section>
      <Section id="downloads" title="Installer downloads">
        {data.downloads === null ? (
          <DownloadsHidden />
        ) : (
          <>
            <p>
              From {data.downloads.from} to {data.downloads.to}.
            </p>
            <DownloadsScope organization={props.organization} />
            <div class="charts">
              <CountChart id="chart-downloads-os" title="Downloads by operating system" type="doughnut" keyHeader="Operating system" countHeader="Downloads" rows={downloadRows(data.downloads.byOs, (r) => r.os ?? '(unknown)')} />
              <CountChart id="chart-downloads-browser" title="Downloads by browser" type="bar" keyHeader="Browser" countHeader="Downloads" rows={downloadRows(data.downloads.byBrowser, (r) => r.browser ?? '(unknown)')} />
            </div>
          </>
        )}
      </Section>
    </Layout>
  );
}
