import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RapportPropsError } from '../../infra/cdk/errors';
import { onlyLogicalId, synthRapport } from './synth';

/**
 * `ingestFirewall`: AWS WAF in front of the ingest API. The ingest is an HTTP API, which takes
 * no web ACL, so the ACL is attached to a CloudFront distribution whose origin is the ingest stage.
 */
describe('ingest firewall (WAF through CloudFront)', () => {
  it('adds no web ACL and no distribution by default', () => {
    const { template } = synthRapport({}, { bundle: false });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  });

  describe('with a web ACL of its own (stack in us-east-1)', () => {
    // Prepare
    const { template, stack } = synthRapport({ ingestFirewall: { ratePerIpPer5Minutes: 500 }, env: { region: 'us-east-1' } }, { bundle: false });

    it('creates a CLOUDFRONT web ACL: a rate-based block per client IP, then AWS managed common rules', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        Scope: 'CLOUDFRONT',
        DefaultAction: { Allow: {} },
        Rules: [
          Match.objectLike({
            Name: 'RateLimitPerIp',
            Priority: 0,
            Action: { Block: {} },
            Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 500 } },
          }),
          Match.objectLike({
            Name: 'AWSManagedRulesCommonRuleSet',
            Priority: 1,
            OverrideAction: { None: {} },
            Statement: {
              ManagedRuleGroupStatement: {
                VendorName: 'AWS',
                Name: 'AWSManagedRulesCommonRuleSet',
                // Segment batches exceed the set's 8 KB body rule: counted, not blocked.
                RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
              },
            },
          }),
        ],
      });
    });

    it('attaches it to a distribution whose origin is the ingest stage, passing every method, header and query, caching nothing', () => {
      const aclId = onlyLogicalId(template, 'AWS::WAFv2::WebACL');
      const apiId = stack.getLogicalId(stack.rapport.httpApi.node.defaultChild as never);
      const distribution = Object.values(template.findResources('AWS::CloudFront::Distribution'))[0] as { Properties: { DistributionConfig: Record<string, unknown> } };
      const config = distribution.Properties.DistributionConfig as {
        WebACLId: unknown;
        Origins: { DomainName: unknown; CustomOriginConfig: { OriginProtocolPolicy: string } }[];
        DefaultCacheBehavior: { AllowedMethods: string[]; ViewerProtocolPolicy: string; CachePolicyId: string; OriginRequestPolicyId: string };
      };
      expect(config.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
      expect(JSON.stringify(config.Origins[0]?.DomainName)).toContain(`"Ref":"${apiId}"`);
      expect(config.Origins[0]?.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
      expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE', 'OPTIONS']));
      expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('https-only');
      expect(config.DefaultCacheBehavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // Managed-CachingDisabled
      expect(config.DefaultCacheBehavior.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // Managed-AllViewerExceptHostHeader
    });

    it('outputs the distribution URL senders should post to', () => {
      template.hasOutput('IngestFirewallUrl', {});
      expect(stack.rapport.ingestDistribution).toBeDefined();
      expect(stack.rapport.ingestWebAcl).toBeDefined();
    });
  });

  it('attaches a given web ACL in any region, and creates none', () => {
    const webAclArn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/rapport/0123abcd-0123-0123-0123-0123456789ab';
    const { template } = synthRapport({ ingestFirewall: { webAclArn }, env: { region: 'eu-west-1' } }, { bundle: false });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.hasResourceProperties('AWS::CloudFront::Distribution', { DistributionConfig: Match.objectLike({ WebACLId: webAclArn }) });
  });

  it('refuses at synth a web ACL of its own outside us-east-1, naming the limit', () => {
    const build = () => synthRapport({ ingestFirewall: {}, env: { region: 'eu-west-1' } }, { bundle: false });
    expect(build).toThrow(RapportPropsError);
    expect(build).toThrow(/HTTP API, which WAF cannot protect directly.*CLOUDFRONT.*us-east-1 only/);
  });

  it('refuses a rate outside WAF limits', () => {
    expect(() => synthRapport({ ingestFirewall: { ratePerIpPer5Minutes: 5 }, env: { region: 'us-east-1' } }, { bundle: false })).toThrow(/ratePerIpPer5Minutes/);
  });
});
