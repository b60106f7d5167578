import { Fn, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { RapportIngestFirewall } from '../rapport';

/** Requests one client IP may send in any 5-minute window before the rate rule blocks it. */
export const DEFAULT_RATE_PER_IP_PER_5_MINUTES = 2000;

/**
 * Why `firewall` cannot be built in `scope`'s stack, if it cannot. A web ACL Rapport creates
 * for CloudFront has the CLOUDFRONT scope, which CloudFormation creates in us-east-1 only.
 */
export function firewallProblems(scope: Construct, firewall: RapportIngestFirewall | undefined): string[] {
  if (firewall === undefined) return [];
  const problems: string[] = [];
  const rate = firewall.ratePerIpPer5Minutes ?? DEFAULT_RATE_PER_IP_PER_5_MINUTES;
  if (!Number.isInteger(rate) || rate < 10 || rate > 2_000_000_000) {
    problems.push(`ingestFirewall.ratePerIpPer5Minutes must be a whole number from 10 to 2,000,000,000 (WAF's rate-based rule limit), got ${rate}`);
  }
  if (firewall.webAclArn === undefined && Stack.of(scope).region !== 'us-east-1') {
    problems.push(
      'ingestFirewall without webAclArn needs a stack in us-east-1 (env: { region: "us-east-1" }): the ingest API is an HTTP API, which WAF cannot protect directly, so the web ACL is attached to a CloudFront distribution in front of it, and CloudFront web ACLs (scope CLOUDFRONT) exist in us-east-1 only; elsewhere, create the web ACL in us-east-1 and pass its ARN as webAclArn',
    );
  }
  return problems;
}

export interface FirewallAreaProps {
  readonly stageName: string;
  readonly firewall: RapportIngestFirewall;
  /** The ingest API's stage: the distribution's origin. */
  readonly httpStage: apigwv2.HttpStage;
}

/**
 * The ingest API behind AWS WAF. WAF protects REST API stages, not HTTP APIs
 * (API Gateway v2), and the ingest is an HTTP API: so the web ACL is attached to
 * a CloudFront distribution whose origin is the ingest stage, passing every
 * method, header and query string through, caching nothing. Its rules: a
 * rate-based rule per client IP, and AWS's managed common rule set (with its 8 KB
 * body size rule counted, not blocking: Segment batches are larger).
 *
 * Only requests sent to the distribution's URL are filtered; the API's own
 * execute-api URL still answers (disabling it needs a custom domain as origin).
 */
export class FirewallArea {
  /** The web ACL Rapport created (scope CLOUDFRONT), when `webAclArn` was not given. */
  public readonly webAcl?: wafv2.CfnWebACL;
  /** The distribution in front of the ingest API; senders post to its URL. */
  public readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, props: FirewallAreaProps) {
    const { stageName, firewall } = props;
    const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `rapport-${stageName}-ingest-${name}`,
    });
    let webAclArn = firewall.webAclArn;
    if (webAclArn === undefined) {
      this.webAcl = new wafv2.CfnWebACL(scope, 'IngestWebAcl', {
        description: `Rapport ${stageName}: rate limit per IP and AWS common rules in front of the ingest API`,
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: metric('acl'),
        rules: [
          {
            name: 'RateLimitPerIp',
            priority: 0,
            action: { block: {} },
            statement: {
              rateBasedStatement: { aggregateKeyType: 'IP', limit: firewall.ratePerIpPer5Minutes ?? DEFAULT_RATE_PER_IP_PER_5_MINUTES },
            },
            visibilityConfig: metric('rate-per-ip'),
          },
          {
            name: 'AWSManagedRulesCommonRuleSet',
            priority: 1,
            overrideAction: { none: {} },
            statement: {
              managedRuleGroupStatement: {
                vendorName: 'AWS',
                name: 'AWSManagedRulesCommonRuleSet',
                // Segment batches (/v1/batch) and webhook bodies exceed the rule set's 8 KB body limit.
                ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
              },
            },
            visibilityConfig: metric('common-rules'),
          },
        ],
      });
      webAclArn = this.webAcl.attrArn;
    }
    // https://<api id>.execute-api.<region>.<suffix>/ -> the host name.
    const apiDomain = Fn.select(2, Fn.split('/', props.httpStage.url));
    this.distribution = new cloudfront.Distribution(scope, 'IngestDistribution', {
      comment: `Rapport ${stageName}: ingest API behind AWS WAF`,
      webAclId: webAclArn,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new origins.HttpOrigin(apiDomain, { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // Every request reaches the function: signatures, write keys and unsubscribe tokens are per request.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
    });
  }
}
