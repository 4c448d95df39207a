// LoopbackDynamoDBLocal starts DynamoDB Local (the jar from
// amplify-dynamodb-simulator, version 1.25.1) bound to one address only,
// 127.0.0.1 by default. The jar itself has no host option: its Jetty server
// listens on every interface. This launcher builds the server exactly as the
// jar's own main class does, then sets the host of its connector before
// starting it. scripts/stack.sh compiles it into .local/dynamodb/launcher/
// when a JDK (javac) is available and falls back to the plain jar otherwise.
//
// Usage: java -Djava.library.path=DynamoDBLocal_lib -Dwinback.host=127.0.0.1 \
//   -cp launcher:DynamoDBLocal.jar LoopbackDynamoDBLocal -port 8000 -inMemory ...
// (the same options as DynamoDBLocal.jar).

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public final class LoopbackDynamoDBLocal {
    private LoopbackDynamoDBLocal() {}

    public static void main(String[] args) {
        String host = System.getProperty("winback.host", "127.0.0.1");
        try {
            DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
            Field field = DynamoDBProxyServer.class.getDeclaredField("server");
            field.setAccessible(true);
            Server jetty = (Server) field.get(proxy);
            for (Connector connector : jetty.getConnectors()) {
                ((ServerConnector) connector).setHost(host);
            }
            proxy.start();
            System.out.println("DynamoDB Local listening on " + host);
        } catch (Throwable e) {
            // Jetty's threads would keep a half-started JVM alive: exit.
            System.err.println("LoopbackDynamoDBLocal: could not start DynamoDB Local on " + host + ": " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }
}
